"""The release as defined: the state machine definition read (states, diagram), the deploy config's schemas, and the steps' code asset."""
