"""``python -m handgrad`` runs the command line, and so does ``torchrun -m handgrad``:

    torchrun --nproc-per-node 2 -m handgrad train --dataset mnist --batch-size 512
"""

from .cli import main

if __name__ == "__main__":
    main()                  # named as the user started it: handgrad, or HANDGRAD_PROG
