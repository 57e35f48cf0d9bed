"""The verdicts a claim can get, in words and in colour (no symbol needs an emoji font)."""

HOLDS = "holds"
PARTLY = "holds partly"
AS_STATED = "does not hold as stated"      # it holds only under a variant of the lesson's setup
FAILS = "does not hold"
UNSETTLED = "not settled"                   # the seeds' interval straddles the threshold
UNTESTED = "not tested here"                # every part needs something this machine lacks
SKIPPED = "skipped"
ERROR = "error"

VERDICTS = (HOLDS, PARTLY, AS_STATED, FAILS, UNSETTLED, UNTESTED, SKIPPED, ERROR)

# text colour on white, and a pale background for a badge; each passes WCAG AA contrast
COLORS = {HOLDS: "#116329", PARTLY: "#7d4e00", AS_STATED: "#a40e26", FAILS: "#a40e26",
          UNSETTLED: "#0a3069", UNTESTED: "#57606a", SKIPPED: "#57606a", ERROR: "#a40e26"}
BACKGROUNDS = {HOLDS: "#dafbe1", PARTLY: "#fff8c5", AS_STATED: "#ffebe9", FAILS: "#ffebe9",
               UNSETTLED: "#ddf4ff", UNTESTED: "#eaeef2", SKIPPED: "#eaeef2", ERROR: "#ffebe9"}

# how one part of a claim came out
PASS, FAIL, UNCLEAR, NOT_HERE = "yes", "no", "unclear", "not here"
