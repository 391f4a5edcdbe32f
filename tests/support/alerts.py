"""An SQS queue subscribed to the local alert topic, read as an on-call inbox would be."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from local.aws_local import ALERT_TOPIC, EndpointClients

# alerts.failure_alert's subject: "<dag> <day>: <task> failed (try N)".
FAILURE_SUBJECT = re.compile(r"\S+ \d{4}-\d{2}-\d{2}: \S+ failed \(try \d+\)$")
# lateness.late_alert's subject: "<dag> <day>: late, not succeeded by YYYY-MM-DD HH:MM UTC".
LATE_SUBJECT = re.compile(r"\S+ \S+: late, not succeeded by \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$")

Alert = dict[str, Any]  # SNS's envelope: "Subject", "Message", ...


def is_late(alert: Alert) -> bool:
    return bool(LATE_SUBJECT.match(alert["Subject"]))


def alert_run(alert: Alert) -> str:
    """The run id an alert names (its "Run: ..." line)."""
    for line in alert["Message"].splitlines():
        if line.startswith("Run: "):
            return line.removeprefix("Run: ")
    raise AssertionError(f"alert names no run: {alert}")


class AlertInbox:
    """Failure and late alerts delivered to the topic, in the order they were read.

    The topic also carries the Lambda's quarantine notices (one topic, as the stack's
    AlertTopic): those are read and left out.
    """

    def __init__(self, aws: EndpointClients, queue_name: str) -> None:
        self.sqs = aws.client("sqs")
        sns = aws.client("sns")
        topic_arn = sns.create_topic(Name=ALERT_TOPIC)["TopicArn"]  # provision's topic
        self.queue_url = self.sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.received: list[Alert] = []

    def take(self) -> list[Alert]:
        """Alerts delivered since the last call (waits up to a second for a first one)."""
        alerts = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            messages = response.get("Messages", [])
            if not messages:
                self.received += alerts
                return alerts
            for message in messages:
                envelope = json.loads(message["Body"])
                subject = envelope.get("Subject") or ""
                if FAILURE_SUBJECT.match(subject) or LATE_SUBJECT.match(subject):
                    alerts.append(envelope)
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def wait_for(self, wanted: Callable[[Alert], bool], timeout: float) -> list[Alert]:
        """The ``wanted`` alerts, once there is one (polled a second at a time, no busy loop);
        an empty list after ``timeout`` seconds, for the caller's assertion to explain."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.take()
            found = [alert for alert in self.received if wanted(alert)]
            if found:
                return found
        return []
