"""The deploy config: its models, its rules, LoadRelease's check of it and what it names in AWS."""
