"""What the steps decide from what they read (`cutover_steps.reads`): intents, with before and after
(ownership.py and obsolete_mark.py still make their own reads)."""
