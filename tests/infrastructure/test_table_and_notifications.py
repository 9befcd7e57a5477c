"""The release table keeps locks and records safely; the notification topic is private and encrypted."""
from __future__ import annotations


def test_the_release_table_is_keyed_by_pk_recoverable_and_encrypted(synthesized):
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    # Release records are what a rollback restores from: deleting the stack keeps them
    assert table["DeletionPolicy"] == "Retain"


def test_notifications_are_encrypted_with_a_rotated_key_that_cloudwatch_alarms_can_use(synthesized):
    (topic,) = synthesized.of_type("AWS::SNS::Topic").values()
    (key_name, key), = synthesized.of_type("AWS::KMS::Key").items()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_name, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    cloudwatch = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                  if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_the_topic_refuses_requests_without_tls(synthesized):
    (policy,) = synthesized.of_type("AWS::SNS::TopicPolicy").values()
    denials = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in denials)


def test_with_no_context_nobody_is_subscribed_until_told(synthesized):
    assert synthesized.of_type("AWS::SNS::Subscription") == {}


def test_a_release_stopped_by_hand_timed_out_or_failed_outside_its_flow_is_undone_and_unlocked(synthesized):
    # The undo of stopped releases hears of executions of this state machine that may end outside the flow
    (rule,) = [r for r in synthesized.of_type("AWS::Events::Rule").values()
               if "ABORTED" in r["Properties"]["EventPattern"]["detail"]["status"]
               and "SUCCEEDED" not in r["Properties"]["EventPattern"]["detail"]["status"]]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    (machine_name,) = synthesized.state_machines()
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine_name}]
    (target,) = rule["Properties"]["Targets"]
    undo = [name for name, fn in synthesized.of_type("AWS::Lambda::Function").items()
            if fn["Properties"]["Handler"] == "cutover_steps.steps.undo_stopped_release.handler"]
    assert target["Arn"] == {"Fn::GetAtt": [undo[0], "Arn"]}


def test_every_ended_execution_goes_to_the_ledger_which_the_table_expires_after_its_retention(synthesized):
    # The ledger's writer hears of every end of the release state machine's executions, stops included
    (rule,) = [r for r in synthesized.of_type("AWS::Events::Rule").values()
               if "SUCCEEDED" in r["Properties"]["EventPattern"]["detail"]["status"]]
    assert sorted(rule["Properties"]["EventPattern"]["detail"]["status"]) == ["ABORTED", "FAILED", "SUCCEEDED", "TIMED_OUT"]
    (target,) = rule["Properties"]["Targets"]
    (writer,) = [name for name, fn in synthesized.of_type("AWS::Lambda::Function").items()
                 if fn["Properties"]["Handler"] == "cutover_steps.steps.record_in_ledger.handler"]
    assert target["Arn"] == {"Fn::GetAtt": [writer, "Arn"]}
    # And its entries expire by the table's TTL attribute, after the stack's retention (730 days by default)
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    function = synthesized.of_type("AWS::Lambda::Function")[writer]
    assert function["Properties"]["Environment"]["Variables"]["LEDGER_RETENTION_DAYS"] == "730"
