"""Every AWS call the steps make, the boto3 client factory (clients.py) included, with AWS error codes
and shapes turned into the release's terms."""
