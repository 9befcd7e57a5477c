"""Tests on the synthesized CloudFormation template: what deploys, who may do what, and compliance."""
