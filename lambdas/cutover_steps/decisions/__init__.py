"""What the steps decide from what they read (`cutover_steps.reads`): intents, with before and after. Pure:
no adapter, no read."""
