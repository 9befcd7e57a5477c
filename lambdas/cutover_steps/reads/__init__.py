"""What the steps read of the world before they decide: the adapters' calls, gathered into the plain
values a decision (`cutover_steps.decisions`, pure) takes. `cutover plan` makes the same reads."""
