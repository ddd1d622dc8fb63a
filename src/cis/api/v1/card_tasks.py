"""Card tasks over the API: the workstation agent reads, claims and finishes what the portal asked.

No sign-in: the task's one-time secret (which the portal page handed to the agent on the same
computer) is the credential, and it is sent in the body, never in a URL. A task is started in
the portal (cis.portal.views.card_tasks), bound to that browser's sign-in session.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from cis.smartcards import wire
from cis.smartcards.models import CardTask
from cis.smartcards.services import tasks

from .cards import CardThrottle, OpenEndpoint
from .conventions import parse
from .serializers.cards import HolderRef, OperationOut, PasscodePolicyOut
from .serializers.errors import RATE_LIMITED, WRITE_ERRORS

TAG = ["smartcards"]


class SecretIn(serializers.Serializer[Any]):
    secret = serializers.CharField(max_length=100, help_text="The task's one-time secret.")


class ClaimIn(SecretIn):
    chip_serial = serializers.CharField(
        max_length=64, help_text="The card in the agent's reader (a blank one to issue)."
    )


class FinishIn(SecretIn):
    outcome = serializers.ChoiceField(choices=list(tasks.OUTCOMES))
    detail = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class TaskOut(serializers.Serializer[Any]):
    task = serializers.CharField()
    kind = serializers.CharField(help_text="renew, change_passcode, self_unlock, unlock, ...")
    kind_label = serializers.CharField()
    chip_serial = serializers.CharField(allow_blank=True, help_text="Blank: a task to issue.")
    holder = HolderRef()
    asked_by = HolderRef()
    reason = serializers.CharField(allow_blank=True)
    expires_at = serializers.DateTimeField()
    outcome = serializers.CharField(allow_blank=True)
    passcode_policy = PasscodePolicyOut()


class ClaimOut(serializers.Serializer[Any]):
    task = TaskOut()
    operation = OperationOut(allow_null=True)


def task_body(task: CardTask) -> dict[str, Any]:
    return {
        "task": task.ref,
        "kind": task.kind,
        "kind_label": task.get_kind_display(),
        "chip_serial": task.card.chip_serial if task.card else "",
        "holder": wire.holder_json(task.holder),
        "asked_by": wire.holder_json(task.actor),
        "reason": str(task.params.get("reason", "")),
        "expires_at": task.expires_at,
        "outcome": task.outcome,
        "passcode_policy": wire.passcode_policy_json(),
    }


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class TaskView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="What a card task asks for (the agent shows it before anyone confirms)",
        request=SecretIn,
        responses={200: TaskOut, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request, ref: str) -> Response:
        data = parse(SecretIn, request.data)
        task = tasks.card_task_describe(ref=ref, secret=data["secret"])
        return _no_store(Response(TaskOut(task_body(task)).data))


class ClaimView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="Claim a card task for the card in the reader (once) and start its operation",
        description=(
            "Works once, before the task expires, while the browser session that asked is "
            "signed in, and only for the card the task names (a blank card to issue or "
            "replace). The answer carries the card operation (with its SO PINs where the step "
            "needs them, and the secret that continues it), as the signed-in endpoints do."
        ),
        request=ClaimIn,
        responses={201: ClaimOut, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request, ref: str) -> Response:
        data = parse(ClaimIn, request.data)
        claimed = tasks.card_task_claim(
            ref=ref, secret=data["secret"], chip_serial=data["chip_serial"]
        )
        body = {
            "task": task_body(claimed.task),
            "operation": wire.operation_json(claimed.released) if claimed.released else None,
        }
        return _no_store(Response(ClaimOut(body).data, status=status.HTTP_201_CREATED))


class FinishView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="Say how a claimed card task went",
        request=FinishIn,
        responses={200: TaskOut, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request, ref: str) -> Response:
        data = parse(FinishIn, request.data)
        task = tasks.card_task_finish(
            ref=ref, secret=data["secret"], outcome=data["outcome"], detail=data["detail"]
        )
        return Response(TaskOut(task_body(task)).data)


urlpatterns = [
    path("card-tasks/<str:ref>/", TaskView.as_view(), name="card-task"),
    path("card-tasks/<str:ref>/claim/", ClaimView.as_view(), name="card-task-claim"),
    path("card-tasks/<str:ref>/finish/", FinishView.as_view(), name="card-task-finish"),
]
