"""Grants for CloudWatch Logs (function and access logs), CloudWatch (alarms, the dashboard) and
SNS (the alarm topics)."""

from __future__ import annotations

from infra.deploy_policy.grant import TAG_ACTIONS, Grant, P

GRANTS: tuple[Grant, ...] = (
    Grant(
        "LogGroups",
        ("aws:cloudwatch/logGroup:LogGroup",),
        (
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:DeleteLogGroup",
            *(f"logs:{action}" for action in TAG_ACTIONS),
        ),
        (
            f"arn:{P}:logs:{{region}}:*:log-group:/aws/lambda/{{app}}-*",
            f"arn:{P}:logs:{{region}}:*:log-group:/aws/apigateway/{{app}}-*",
            f"arn:{P}:logs:{{region}}:*:log-group:API-Gateway-Execution-Logs_*",
        ),
    ),
    Grant(
        "LogGroupReads",
        ("aws:cloudwatch/logGroup:LogGroup",),
        ("logs:DescribeLogGroups",),
        ("*",),
    ),
    Grant(
        "Alarms",
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"),
        (
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:PutCompositeAlarm",
            "cloudwatch:DeleteAlarms",
            *(f"cloudwatch:{action}" for action in TAG_ACTIONS),
        ),
        (f"arn:{P}:cloudwatch:{{region}}:*:alarm:{{app}}-*",),
    ),
    # DescribeAlarms returns composite alarms only to a permission scoped to `*`.
    Grant(
        "AlarmReads",
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"),
        ("cloudwatch:DescribeAlarms",),
        ("*",),
    ),
    Grant(
        "Dashboard",
        ("aws:cloudwatch/dashboard:Dashboard",),
        ("cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"),
        (f"arn:{P}:cloudwatch::*:dashboard/{{app}}",),
    ),
    Grant(
        "Topics",
        ("aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription"),
        (
            "sns:CreateTopic",
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:DeleteTopic",
            "sns:Subscribe",
            "sns:Unsubscribe",
            "sns:GetSubscriptionAttributes",
            "sns:SetSubscriptionAttributes",
            *(f"sns:{action}" for action in TAG_ACTIONS),
        ),
        (f"arn:{P}:sns:{{region}}:*:{{app}}-*",),
    ),
)
