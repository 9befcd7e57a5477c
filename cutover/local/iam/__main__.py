"""`python -m cutover.local.iam`: regenerate policies.json from the stack synthesized with the local settings."""
from cutover.local.iam.policies import main

raise SystemExit(main())
