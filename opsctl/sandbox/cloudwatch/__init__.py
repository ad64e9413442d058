"""CloudWatch as the sandbox emulates it: metric alarms, composite rules, their evaluation."""
