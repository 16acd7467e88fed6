"""Marathon's JSON for apps, tasks and deployments (the RAML types `AppInfo`, `Task`,
`DeploymentStepInfo`, `DeploymentResult`). Call with the scheduler's lock held."""

import copy

from . import appdef


def task_json(task, scheduler):
    """A `Task`: a terminal one keeps its state but loses its times, ports and version."""
    body = {
        "appId": task.app["id"],
        "healthCheckResults": [record.to_json() for record in task.health if record.probed],
        "host": scheduler.host,
        "id": task.id,
        "ipAddresses": [{"ipAddress": scheduler.host_ip, "protocol": "IPv4"}],
        "ports": task.host_ports if task.active else [],
        "servicePorts": [pd["port"] for pd in task.app["portDefinitions"]],
        "slaveId": scheduler.agent_id,
        "state": task.state,
        "role": task.app.get("role", "*"),
    }
    if task.active:
        body["stagedAt"] = appdef.timestamp(task.staged_at)
        if task.started_at is not None:
            body["startedAt"] = appdef.timestamp(task.started_at)
        body["version"] = task.app["version"]
    return body


def readiness_results(state):
    return [task.readiness for task in state.tasks() if task.readiness is not None]


def counts(state):
    tasks = state.tasks()
    running = [task for task in tasks if task.running]
    return {
        "tasksStaged": sum(1 for task in tasks if task.state == "TASK_STAGING"),
        "tasksRunning": len(running),
        "tasksHealthy": sum(1 for task in running if task.healthy is True),
        "tasksUnhealthy": sum(1 for task in running if task.healthy is False),
    }


def app_json(state, scheduler, embed):
    """An `AppInfo`: the definition plus what `embed` asks for (a set of the names
    `counts`, `deployments`, `tasks`, `lastTaskFailure`, `readiness`)."""
    body = copy.deepcopy(state.app)
    if "counts" in embed:
        body.update(counts(state))
    if "deployments" in embed:
        body["deployments"] = [{"id": d.id} for d in scheduler.deployments_of(state.app["id"])]
    if "readiness" in embed:
        body["readinessCheckResults"] = readiness_results(state)
    if "tasks" in embed:
        body["tasks"] = [task_json(task, scheduler) for task in state.tasks()]
    if "lastTaskFailure" in embed and state.last_failure is not None:
        body["lastTaskFailure"] = state.last_failure
    return body


def deployment_json(deployment, scheduler):
    """A running deployment as `GET /v2/deployments` lists it."""
    actions = lambda step: [{"action": action, "app": deployment.app_id} for action in step]
    current = deployment.steps[deployment.current_step - 1] if deployment.steps else []
    state = scheduler.apps.get(deployment.app_id)
    readiness = readiness_results(state) if state is not None else []
    return {
        "id": deployment.id,
        "version": deployment.version,
        "affectedApps": [deployment.app_id],
        "affectedPods": [],
        "steps": [{"actions": actions(step)} for step in deployment.steps],
        "currentActions": [dict(action, readinessCheckResults=readiness)
                           for action in actions(current)],
        "currentStep": deployment.current_step,
        "totalSteps": len(deployment.steps),
    }


def deployment_result(deployment):
    """The `{deploymentId, version}` answer of PUT, DELETE and restart."""
    return {"deploymentId": deployment.id, "version": deployment.version}
