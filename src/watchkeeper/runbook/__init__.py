"""The runbook as data: defaults, configuration, severity policy, calendar and SLA."""
