"""The check behind every release test: the sampler finds a rule giving weight to a group with no
healthy target, also when it comes after a quiet spell (when the sampler waits for a write to ELBv2
rather than reading on a clock)."""
from __future__ import annotations

import time

from cutover.local.invariants import EmptyTargetSampler


def test_a_rule_sent_to_an_empty_group_after_a_quiet_spell_is_found(demo):
    elbv2 = demo.client("elbv2")
    live = elbv2.describe_target_groups(Names=["demo-web-1"])["TargetGroups"][0]["TargetGroupArn"]
    empty = elbv2.create_target_group(Name="empty", Protocol="HTTP", Port=8080, VpcId=demo.env.values["VPC"],
                                      TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    # The preparing rule, which the demo's own sampler does not watch
    rule = demo.preparing_rule
    before = elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
    with EmptyTargetSampler(elbv2, [rule]) as sampler:
        # Given nothing changing for longer than the sampler waits for a write
        time.sleep(EmptyTargetSampler.IDLE_SECONDS * 1.5)
        # When the rule gives half its weight to a group with no target, for half a second
        elbv2.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": live, "Weight": 50}, {"TargetGroupArn": empty, "Weight": 50}]}}])
        time.sleep(0.5)
        elbv2.modify_rule(RuleArn=rule, Actions=before)
    # Then the sampler reports it, naming the group and the weights
    found = sampler.violations
    assert found and {v.target_group for v in found} == {"empty"}
    assert found[0].weights == {"demo-web-1": 50, "empty": 50}
