"""Every AWS call the command line makes, and the AWS errors it meets turned into its own."""
