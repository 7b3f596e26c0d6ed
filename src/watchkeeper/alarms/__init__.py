"""Production alarms, the runbook's third trigger: incidents declared without a person.

Two doors, one model: a `repository_dispatch` event with `event_type: incident` and
the Alertmanager-compatible receiver (`POST /api/alerts`). Both become an `Alarm`,
then a Signal of source "alarm" that the ordinary decide() opens, joins (same
dedup key) or recovers. Pure; the I/O shell is watchkeeper.features.alarms.
"""
