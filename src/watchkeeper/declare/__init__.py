"""Incidents people declare: issues adopted as incidents, and issues reopened.

Pure: payload readers, the issue form's fields, and the decisions. The I/O shell is
watchkeeper.features.declare.
"""
