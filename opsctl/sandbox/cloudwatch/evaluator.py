"""CloudWatch-like alarm evaluation for the sandbox: moto stores alarms but never evaluates one.

Every metric alarm in the sandbox's Regions (the health-check alarms in us-east-1, each Region's
own API/Lambda alarms) is evaluated (`alarms.evaluate_alarm`) from the datapoints in the
emulator's CloudWatch over its last EvaluationPeriods periods; then every composite alarm's
AlarmRule (`alarm_rule.evaluate_rule`) over the states they now have. Each transition is set
with SetAlarmState and its actions published to SNS with CloudWatch's notification JSON.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from opsctl.periodic import PeriodicWorker
from opsctl.sandbox.cloudwatch.alarm_rule import evaluate_rule
from opsctl.sandbox.cloudwatch.alarms import (
    COMPARISONS,
    MATH_TERM,
    AlarmEvaluation,
    MathTerm,
    MetricMath,
    MetricMathRatio,
    MetricMathSum,
    MetricStore,
    Series,
    evaluate_alarm,
    statistic_for,
    statistic_named,
)

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-central-1": "Europe (Frankfurt)",
}


class AlarmEvaluator(PeriodicWorker):
    """Evaluates every metric and composite alarm of the given Regions like CloudWatch, and
    publishes their actions to SNS."""

    def __init__(
        self,
        cloudwatch_by_region: dict[str, Any],
        sns_by_region: dict[str, Any],
        store: MetricStore,
        *,
        time_scale: float,
        tick_seconds: float | None = None,
    ) -> None:
        self.cloudwatch_by_region = cloudwatch_by_region
        self.sns_by_region = sns_by_region
        self.store = store
        self.time_scale = time_scale
        # Regions that are out: CloudWatch there neither evaluates nor notifies (as on AWS,
        # where a Region's outage takes its alarms and SNS with it).
        self.out: set[str] = set()
        self.tick_seconds = (
            tick_seconds if tick_seconds is not None else max(0.05, 5.0 * time_scale)
        )
        super().__init__("alarm-evaluator", self._tick, self.tick_seconds)

    def isolate(self, region: str) -> None:
        self.out.add(region)

    def rejoin(self, region: str) -> None:
        """Evaluation resumes from the datapoints there are (what the Region's CloudWatch
        received while out stays lost, as the sandbox's API calls to it were refused)."""
        self.out.discard(region)

    def _tick(self) -> None:
        try:
            self.evaluate_all(time.time())
        except Exception as error:
            print(f"alarm evaluation failed: {error!r}", file=sys.stderr)

    def evaluate_all(self, now: float) -> None:
        """Metric alarms first, then the composite alarms over the states they now have."""
        self.store.refresh()
        for region, cloudwatch in self.cloudwatch_by_region.items():
            if region in self.out:
                continue
            states: dict[str, str] = {}
            paginator = cloudwatch.get_paginator("describe_alarms")
            pages = list(paginator.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]))
            for alarm in (a for page in pages for a in page["MetricAlarms"]):
                states[alarm["AlarmName"]] = alarm["StateValue"]
                readable = self._readable(region, alarm)
                if readable is None:
                    continue
                evaluated_alarm, series = readable
                evaluation = evaluate_alarm(evaluated_alarm, series, now, self.time_scale)
                if evaluation is not None and evaluation.state != alarm["StateValue"]:
                    self._transition(region, alarm, evaluation)
                    states[alarm["AlarmName"]] = evaluation.state
            for alarm in (a for page in pages for a in page["CompositeAlarms"]):
                fired = evaluate_rule(alarm["AlarmRule"], states)
                state = "ALARM" if fired else "OK"
                if state != alarm["StateValue"]:
                    reason = (
                        f"arn:aws:cloudwatch alarm rule {alarm['AlarmRule']} evaluated to "
                        f"{str(fired).upper()}"
                    )
                    self._transition(region, alarm, AlarmEvaluation(state, reason, {}))

    def _readable(
        self, region: str, alarm: dict[str, Any]
    ) -> tuple[dict[str, Any], Series | MetricMath] | None:
        """The alarm as evaluated and its datapoints; None for what the sandbox cannot compute
        or what has never been published (CloudWatch has no datapoints before a metric's first;
        "breaching" missing data would otherwise fire before the checkers start)."""
        if alarm.get("ComparisonOperator") not in COMPARISONS:
            return None
        if alarm.get("Metrics"):
            return self._metric_math(region, alarm)
        if statistic_for(alarm) is None:
            return None
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        series = self.store.series(
            region, alarm.get("Namespace", ""), alarm.get("MetricName", ""), dimensions
        )
        if series is None or not series.published:
            return None
        return alarm, series

    def _metric_math(
        self, region: str, alarm: dict[str, Any]
    ) -> tuple[dict[str, Any], MetricMath] | None:
        """A metric-math alarm whose returned expression adds up its queries' statistics
        (`e0 + e1`) or divides two such sums (`(e0 + e1) / (r0 + r1)`); any other expression is
        left alone."""
        queries = {query["Id"]: query for query in alarm["Metrics"]}
        returned = [q for q in alarm["Metrics"] if q.get("ReturnData")]
        if len(returned) != 1 or not returned[0].get("Expression"):
            return None
        periods: set[int] = set()

        def summed(text: str) -> MetricMathSum | None:
            terms = []
            for part in text.strip().removeprefix("(").removesuffix(")").split("+"):
                match = MATH_TERM.match(part)
                if match is None:
                    return None
                stat = queries.get(match.group("ident"), {}).get("MetricStat")
                statistic = statistic_named(stat.get("Stat", "")) if stat else None
                if stat is None or statistic is None:
                    return None
                metric = stat["Metric"]
                periods.add(stat["Period"])
                dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                series = self.store.series(
                    region, metric["Namespace"], metric["MetricName"], dimensions
                )
                terms.append(MathTerm(series, statistic))
            return MetricMathSum(tuple(terms))

        parts = returned[0]["Expression"].split("/")
        if len(parts) > 2:
            return None
        numerator = summed(parts[0])
        denominator = summed(parts[1]) if len(parts) == 2 else None
        if numerator is None or (len(parts) == 2 and denominator is None):
            return None
        expression: MetricMath = (
            numerator if denominator is None else MetricMathRatio(numerator, denominator)
        )
        if len(periods) != 1 or not expression.published:
            return None
        return {**alarm, "Period": periods.pop()}, expression

    def _transition(self, region: str, alarm: dict[str, Any], evaluation: AlarmEvaluation) -> None:
        self.cloudwatch_by_region[region].set_alarm_state(
            AlarmName=alarm["AlarmName"],
            StateValue=evaluation.state,
            StateReason=evaluation.reason[:1023],
            StateReasonData=json.dumps(evaluation.reason_data),
        )
        print(
            f"alarm {alarm['AlarmName']} ({region}): {alarm['StateValue']} -> {evaluation.state}",
            file=sys.stderr,
            flush=True,
        )
        actions = {
            "ALARM": alarm.get("AlarmActions", []),
            "OK": alarm.get("OKActions", []),
            "INSUFFICIENT_DATA": alarm.get("InsufficientDataActions", []),
        }[evaluation.state]
        if not alarm.get("ActionsEnabled", True):
            return
        region_name = REGION_NAMES.get(region, region)
        message: dict[str, Any] = {
            "AlarmName": alarm["AlarmName"],
            "AlarmDescription": alarm.get("AlarmDescription"),
            "NewStateValue": evaluation.state,
            "NewStateReason": evaluation.reason,
            "OldStateValue": alarm["StateValue"],
            "StateChangeTime": datetime.now(UTC).isoformat(),
            "Region": region_name,
            "AlarmArn": alarm.get("AlarmArn"),
        }
        if "AlarmRule" in alarm:
            message["AlarmRule"] = alarm["AlarmRule"]
        elif alarm.get("MetricName"):
            message["Trigger"] = {
                "MetricName": alarm["MetricName"],
                "Namespace": alarm["Namespace"],
                "Statistic": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
                "Period": alarm["Period"],
                "EvaluationPeriods": alarm["EvaluationPeriods"],
                "ComparisonOperator": alarm["ComparisonOperator"],
                "Threshold": alarm["Threshold"],
                "Dimensions": [
                    {"name": d["Name"], "value": d["Value"]} for d in alarm.get("Dimensions", [])
                ],
            }
        subject = f'{evaluation.state}: "{alarm["AlarmName"]}" in {region_name}'
        sns = self.sns_by_region.get(region)
        for topic_arn in actions:
            if topic_arn.startswith("arn:aws:sns:") and sns is not None:
                sns.publish(TopicArn=topic_arn, Subject=subject[:100], Message=json.dumps(message))
