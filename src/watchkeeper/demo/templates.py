"""Webhook payload templates for the deliveries that no person or app action in the
simulated GitHub produces: finished workflow runs and deployment statuses.

Derived from the payload examples of octokit/webhooks (payload-examples/api.github.com/
workflow_run/completed.payload.json and deployment_status/with-installation.payload.json,
commit 3a58428aa5c399cf5aa12c8663aea1fb1f515254), trimmed to their own fields: the nested
repository, account and installation objects are filled in from the simulated GitHub's
shapes, and ids, names, URLs and times are set per delivery (see payloads.py).

octokit/webhooks is under the MIT License:

    The MIT License

    Copyright (c) 2018 Gregor Martynus

    Permission is hereby granted, free of charge, to any person obtaining a copy
    of this software and associated documentation files (the "Software"), to deal
    in the Software without restriction, including without limitation the rights
    to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
    copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in
    all copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
    FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
    AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
    LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
    THE SOFTWARE.
"""

from __future__ import annotations

import copy
from typing import Any

_WORKFLOW_RUN_COMPLETED: dict[str, Any] = {
    "action": "completed",
    "workflow": {
        "badge_url": "", "created_at": "2020-10-02T12:42:30.000Z", "html_url": "",
        "id": 2823525, "name": "test", "node_id": "MDg6V29ya2Zsb3cyODIzNTI1",
        "path": ".github/workflows/test.yml", "state": "active",
        "updated_at": "2020-10-03T19:24:48.000Z", "url": "",
    },
    "workflow_run": {
        "name": "", "artifacts_url": "", "cancel_url": "", "check_suite_url": "",
        "check_suite_id": 1291536064, "check_suite_node_id": "MDg6V29ya2Zsb3cyODIzNTI1",
        "conclusion": "success", "created_at": "2020-10-05T16:33:24Z",
        "event": "push", "head_branch": "master", "head_commit": None,
        "head_repository": None, "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
        "path": ".github/workflows/test.yml", "display_title": "", "html_url": "",
        "id": 289782451, "jobs_url": "", "logs_url": "",
        "node_id": "MDExOldvcmtmbG93UnVuMjg5NzgyNDUx",
        "pull_requests": [], "repository": None, "rerun_url": "", "run_number": 163,
        "run_attempt": 1, "run_started_at": "2020-10-05T16:33:49Z",
        "previous_attempt_url": None, "status": "completed",
        "updated_at": "2020-10-05T16:33:49Z", "url": "", "workflow_id": 2823525,
        "workflow_url": "", "actor": None, "triggering_actor": None,
    },
}

_DEPLOYMENT_STATUS_CREATED: dict[str, Any] = {
    "action": "created",
    "deployment_status": {
        "url": "", "id": 209916254, "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMyMDk5MTYyNTQ=",
        "state": "success", "creator": None, "description": "", "environment": "production",
        "target_url": "", "created_at": "2019-05-15T15:20:55Z",
        "updated_at": "2019-05-15T15:20:55Z", "deployment_url": "", "repository_url": "",
    },
    "deployment": {
        "url": "", "id": 145988746, "node_id": "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=",
        "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "ref": "master", "task": "deploy",
        "payload": {}, "original_environment": "production", "environment": "production",
        "description": None, "creator": None, "created_at": "2019-05-15T15:20:53Z",
        "updated_at": "2019-05-15T15:20:55Z", "statuses_url": "", "repository_url": "",
        "performed_via_github_app": None,
    },
}


def workflow_run_completed() -> dict[str, Any]:
    return copy.deepcopy(_WORKFLOW_RUN_COMPLETED)


def deployment_status_created() -> dict[str, Any]:
    return copy.deepcopy(_DEPLOYMENT_STATUS_CREATED)
