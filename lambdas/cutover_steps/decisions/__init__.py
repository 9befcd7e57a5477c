"""What the steps decide from what they read: intents, with before and after (forward.py, compensation.py,
ownership.py and obsolete_mark.py still make their own reads)."""
