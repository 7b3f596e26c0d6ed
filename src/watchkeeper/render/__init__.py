"""Rendering: the incident record as markdown (issue title, body sections, comments).

Pure functions of the record, the config and an explicit `now`. Every untrusted
string goes through render.escape on its way into markdown.
"""
