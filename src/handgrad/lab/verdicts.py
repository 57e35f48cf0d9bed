"""The verdicts an experiment can reach, and how a report shows them."""

HOLDS, PARTLY, FAILS = "holds", "holds partly", "does not hold"
SKIPPED, ERROR, UNTESTED = "skipped", "error", "not tested"
VERDICTS = (HOLDS, PARTLY, FAILS, UNTESTED, SKIPPED, ERROR)

MARKS = {HOLDS: "✅ holds", PARTLY: "🟨 holds partly", FAILS: "❌ does not hold", SKIPPED: "⏭ skipped",
         ERROR: "⚠️ error", UNTESTED: "— not tested"}
CHECK_MARKS = {True: "✅", False: "❌", None: "—"}
COLORS = {HOLDS: "#1a7f37", PARTLY: "#9a6700", FAILS: "#cf222e", SKIPPED: "#6e7781", ERROR: "#cf222e",
          UNTESTED: "#6e7781"}
