"""Smartcards over the API: every step the workstation agent takes, and the card lists.

Authentication: the agent signs in by signing a challenge with the card (POST agent/sign-in/)
and then sends `Authorization: Bearer <token>`; a portal session works too. Self-unlock steps
are open to an agent with no sign-in (a locked card cannot sign): they are keyed by the card's
own certificate and the one-time code sent to the holder, and then by the operation's secret.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import authentication, exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from cis.core import clock
from cis.people.models import Person
from cis.smartcards import selectors, services, wire
from cis.smartcards.models import AgentToken, CardCertificate, Smartcard
from cis.smartcards.services import Released

from . import lookups
from .conventions import Endpoint, SharedThrottle, actor_of, parse
from .serializers.cards import (
    CardOut,
    CertificateOut,
    CertificateRequestIn,
    ChallengeOut,
    CodeIn,
    CodeOut,
    CompleteIn,
    ExpiringOut,
    HolderPresent,
    IssueIn,
    LockReportIn,
    LockReportOut,
    OperationOut,
    PasscodePolicyOut,
    ReasonIn,
    ReplaceIn,
    SignInIn,
    SignInOut,
    VerifyIn,
)
from .serializers.errors import RATE_LIMITED, READ_ERRORS, WRITE_ERRORS

TAG = ["smartcards"]


# -- authentication -------------------------------------------------------------------------------


class AgentTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` from POST agent/sign-in/."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Person, AgentToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header is malformed.")
        found = services.agent_token_person(header[1].decode("ascii", "replace"))
        if found is None:
            raise exceptions.AuthenticationFailed(
                "The agent's sign-in has expired or ended; run cis-agent login again."
            )
        return found

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class AgentTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # untyped base
    target_class = "cis.api.v1.cards.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/v1/agent/sign-in/, signed for with a card.",
        }


class CardEndpoint(Endpoint):
    authentication_classes = [
        AgentTokenAuthentication,
        authentication.SessionAuthentication,
    ]


class OpenEndpoint(Endpoint):
    """For an agent that cannot sign in (a locked card): no session, so no CSRF either."""

    authentication_classes: list[type[authentication.BaseAuthentication]] = []
    permission_classes = [AllowAny]


class CardThrottle(SharedThrottle):
    """Per client address, on the steps open to anyone holding a card: 30 a minute."""

    scope = "cis-card-open"
    limit = 30
    window_seconds = 60


# -- rendering ------------------------------------------------------------------------------------


def _holder(person: Person) -> dict[str, str]:
    return wire.holder_json(person)


def _policy() -> dict[str, int]:
    return wire.passcode_policy_json()


def _operation(released: Released) -> Response:
    body = wire.operation_json(released)
    response = Response(OperationOut(body).data, status=status.HTTP_201_CREATED)
    response["Cache-Control"] = "no-store"
    return response


def _certificate(link: CardCertificate | None) -> dict[str, Any] | None:
    if link is None:
        return None
    cert = link.certificate
    return {
        "serial": cert.serial_hex,
        "not_before": cert.not_before,
        "not_after": cert.not_after,
        "status": cert.effective_status(clock.now()),
        "renewal_opens": selectors.renewal_opens(link),
        "installed": link.installed_at is not None,
    }


def card_body(card: Smartcard) -> dict[str, Any]:
    return {
        "chip_serial": card.chip_serial,
        "status": card.status,
        "cancel_reason": card.cancel_reason,
        "holder": _holder(card.holder),
        "issued_at": card.issued_at,
        "locked_at": card.locked_at,
        "ended_at": card.ended_at,
        "so_pin_rotation_due": card.so_pin_rotation_due,
        "certificate": _certificate(selectors.current_certificate(card)),
    }


def _card(card: Smartcard) -> Response:
    return Response(CardOut(card_body(card)).data)


def _optional_actor(request: Request) -> Person | None:
    user = request.user
    return user if isinstance(user, Person) and user.is_authenticated else None


# -- views ----------------------------------------------------------------------------------------


class PasscodePolicyView(OpenEndpoint):
    @extend_schema(
        tags=TAG, summary="The passcode rules cards must follow", responses={200: PasscodePolicyOut}
    )
    def get(self, request: Request) -> Response:
        return Response(_policy())


class ChallengeView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="A fresh challenge for the agent to sign with a card",
        request=None,
        responses={201: ChallengeOut, 429: RATE_LIMITED},
    )
    def post(self, request: Request) -> Response:
        challenge = services.agent_challenge_create()
        body = {"challenge": challenge.value, "expires_at": challenge.expires_at}
        return Response(body, status=status.HTTP_201_CREATED)


class SignInView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="Sign the agent in with a card",
        description=(
            "The card signs `CIS agent sign-in v1\\0<challenge>\\0<chip serial>` (ECDSA, SHA-256) "
            "with the key of the certificate it presents. The answer is a bearer token, bound "
            "to that card, for CIS_AGENT_TOKEN_MINUTES (30 by default)."
        ),
        request=SignInIn,
        responses={201: SignInOut, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request) -> Response:
        data = parse(SignInIn, request.data)
        token, row = services.agent_sign_in(
            chip_serial=data["chip_serial"],
            certificate_der=data["certificate"],
            challenge=data["challenge"],
            signature=data["signature"],
        )
        body = {"token": token, "expires_at": row.expires_at, "person": _holder(row.person)}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class SignOutView(CardEndpoint):
    @extend_schema(
        tags=TAG,
        summary="End the agent's sign-in",
        request=None,
        responses={204: None, **READ_ERRORS},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AgentToken):
            services.agent_sign_out(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CardListView(CardEndpoint):
    @extend_schema(
        tags=TAG,
        summary="Cards: yours, a holder's, or the locked ones in your scope",
        parameters=[
            OpenApiParameter(
                "holder", str, description="A holder's user id (default: your own cards)."
            ),
            OpenApiParameter(
                "status",
                str,
                enum=["locked"],
                description="locked: every locked card of the holders in your scope.",
            ),
        ],
        responses={200: CardOut(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        if request.query_params.get("status") == "locked":
            cards = list(
                selectors.locked_cards(actor=actor).prefetch_related("certificates__certificate")
            )
        else:
            user_id = request.query_params.get("holder") or actor.user_id
            holder = (
                actor
                if user_id == actor.user_id
                else lookups.person(actor=actor, user_id=user_id, field="holder")
            )
            cards = selectors.cards_of(actor=actor, holder=holder)
        return Response([CardOut(card_body(c)).data for c in cards])


class ExpiringView(CardEndpoint):
    @extend_schema(
        tags=TAG,
        summary="Certificates in your scope in or past their renewal window",
        responses={200: ExpiringOut(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        rows = selectors.expiring_certificates(actor=actor_of(request))
        return Response(
            [{"card": card_body(r.card), "expires": r.expires, "expired": r.expired} for r in rows]
        )


class CardDetailView(CardEndpoint):
    @extend_schema(
        tags=TAG, summary="One card, by chip serial", responses={200: CardOut, **READ_ERRORS}
    )
    def get(self, request: Request, chip_serial: str) -> Response:
        return _card(selectors.card_get(actor=actor_of(request), chip_serial=chip_serial))


class IssueView(CardEndpoint):
    @extend_schema(
        tags=TAG,
        summary="Issue a blank card to a holder (RA Agent)",
        description=(
            "Binds the card to the holder and releases its new SO PIN to the agent, which "
            "initialises the card (the holder types the passcode), makes the key and asks for "
            "the certificate. Sent again for the same card and holder, it resumes an issue "
            "that was cut short."
        ),
        request=IssueIn,
        responses={201: OperationOut, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        actor = actor_of(request)
        data = parse(IssueIn, request.data)
        holder = lookups.person(actor=actor, user_id=data["holder"], field="holder")
        return _operation(
            services.card_issue(
                actor=actor,
                holder=holder,
                chip_serial=data["chip_serial"],
                holder_present=data["holder_present"],
            )
        )


class _CardAction(CardEndpoint):
    def card(self, chip_serial: str) -> Smartcard:
        return selectors.card_get(actor=actor_of(self.request), chip_serial=chip_serial)


class ReplaceView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Replace a card (RA Agent): the old one is cancelled",
        request=ReplaceIn,
        responses={201: OperationOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(ReplaceIn, request.data)
        return _operation(
            services.card_replace(
                actor=actor_of(request),
                card=self.card(chip_serial),
                new_chip_serial=data["new_chip_serial"],
                reason=data["reason"],
                holder_present=data["holder_present"],
            )
        )


class RepairView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Repair a card (RA Agent): re-personalise it",
        request=HolderPresent,
        responses={201: OperationOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(HolderPresent, request.data)
        return _operation(
            services.card_repair(
                actor=actor_of(request),
                card=self.card(chip_serial),
                holder_present=data["holder_present"],
            )
        )


class ClearView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Clear a returned card for reuse (RA Agent)",
        request=None,
        responses={201: OperationOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        return _operation(services.card_clear(actor=actor_of(request), card=self.card(chip_serial)))


class RenewView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Start renewing the card's certificate",
        description=(
            "From 90 days before expiry by the holder, or an LSA, Sponsor or RA for them; after "
            "expiry by an RA Agent with holder_present. Outside the window: 409."
        ),
        request=HolderPresent,
        responses={201: OperationOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(HolderPresent, request.data)
        return _operation(
            services.card_renew(
                actor=actor_of(request),
                card=self.card(chip_serial),
                holder_present=data["holder_present"],
            )
        )


class UnlockView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Unlock a card with the holder present (LSA, Sponsor, RA)",
        description="Releases the card's SO PIN and a new one to rotate to.",
        request=HolderPresent,
        responses={201: OperationOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(HolderPresent, request.data)
        return _operation(
            services.card_unlock_assisted(
                actor=actor_of(request),
                card=self.card(chip_serial),
                holder_present=data["holder_present"],
            )
        )


class ReportLockedView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Report that the card has locked itself",
        request=None,
        responses={200: CardOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        return _card(
            services.card_report_locked(actor=actor_of(request), card=self.card(chip_serial))
        )


class LockReportView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="The card reports itself locked (no sign-in)",
        description=(
            "For an agent with no sign-in, which is the usual case: a card locks at sign-in. "
            "The report carries an HMAC by the card's own lock-report key (written to the card "
            "when it was personalised or renewed) over a fresh single-use challenge from "
            "POST agent/challenge/. A forged, replayed or unknown report gets the same 403; "
            "reporting a card already locked changes nothing."
        ),
        request=LockReportIn,
        responses={200: LockReportOut, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(LockReportIn, request.data)
        card = services.card_lock_report(
            chip_serial=chip_serial, challenge=data["challenge"], mac=data["mac"]
        )
        body = {"chip_serial": card.chip_serial, "status": card.status, "locked_at": card.locked_at}
        return Response(LockReportOut(body).data)


class ReportLostView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Report your card lost, stolen or damaged (cancels it)",
        request=ReasonIn,
        responses={200: CardOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(ReasonIn, request.data)
        return _card(
            services.card_report_lost(
                actor=actor_of(request), card=self.card(chip_serial), reason=data["reason"]
            )
        )


class CancelView(_CardAction):
    @extend_schema(
        tags=TAG,
        summary="Cancel a card for good (RA Agent)",
        description="Revokes every certificate on it and ends its sessions. Never undone.",
        request=ReasonIn,
        responses={200: CardOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(ReasonIn, request.data)
        return _card(
            services.card_cancel(
                actor=actor_of(request), card=self.card(chip_serial), reason=data["reason"]
            )
        )


class SelfUnlockCodeView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="Send the holder a one-time code to unlock their card",
        description=(
            "No sign-in: the card is recognised by its chip serial and the certificate on it, "
            "and the code goes only to the holder's verified email or mobile."
        ),
        request=CodeIn,
        responses={201: CodeOut, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(CodeIn, request.data)
        card = services.card_presented(chip_serial=chip_serial, certificate_der=data["certificate"])
        actor = _optional_actor(request) or card.holder
        sent = services.card_self_unlock_send_code(actor=actor, card=card, channel=data["channel"])
        body = {
            "sent_to": sent.sent_to,
            "channel": sent.code.channel,
            "expires_at": sent.code.expires_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class SelfUnlockVerifyView(OpenEndpoint):
    throttle_classes = [CardThrottle]

    @extend_schema(
        tags=TAG,
        summary="Check the one-time code; if right, release the SO PIN to unlock the card",
        request=VerifyIn,
        responses={201: OperationOut, **WRITE_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request, chip_serial: str) -> Response:
        data = parse(VerifyIn, request.data)
        card = services.card_presented(chip_serial=chip_serial, certificate_der=data["certificate"])
        return _operation(
            services.card_self_unlock_verify(actor=card.holder, card=card, code=data["code"])
        )


class CertificateRequestView(OpenEndpoint):
    authentication_classes = CardEndpoint.authentication_classes

    @extend_schema(
        tags=TAG,
        summary="Ask for the certificate of the key the card just made",
        request=CertificateRequestIn,
        responses={201: CertificateOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, operation: str) -> Response:
        data = parse(CertificateRequestIn, request.data)
        link = services.card_certificate_request(
            actor=_optional_actor(request),
            operation_ref=operation,
            chip_serial=data["chip_serial"],
            csr_pem=data["csr"].encode(),
            renewal_proof=data.get("renewal_proof"),
            secret=data["secret"],
        )
        return Response(wire.certificate_json(link), status=status.HTTP_201_CREATED)


class CompleteView(OpenEndpoint):
    authentication_classes = CardEndpoint.authentication_classes

    @extend_schema(
        tags=TAG,
        summary="Tell CIS the card is done (certificate written, passcode reset, card wiped)",
        description=(
            "Only now does CIS change what it believes: a new certificate is marked installed "
            "and the old ones superseded; an unlocked card becomes active; a rotated SO PIN "
            "replaces the old one; a wiped card is cleared and its certificates revoked."
        ),
        request=CompleteIn,
        responses={200: CardOut, **WRITE_ERRORS},
    )
    def post(self, request: Request, operation: str) -> Response:
        data = parse(CompleteIn, request.data)
        card = services.card_operation_complete(
            actor=_optional_actor(request),
            operation_ref=operation,
            chip_serial=data["chip_serial"],
            certificate_serial=data["certificate_serial"],
            so_pin_rotated=data["so_pin_rotated"],
            secret=data["secret"],
        )
        return _card(card)


urlpatterns = [
    path("agent/challenge/", ChallengeView.as_view(), name="agent-challenge"),
    path("agent/sign-in/", SignInView.as_view(), name="agent-sign-in"),
    path("agent/sign-out/", SignOutView.as_view(), name="agent-sign-out"),
    path("cards/", CardListView.as_view(), name="card-list"),
    path("cards/passcode-policy/", PasscodePolicyView.as_view(), name="card-passcode-policy"),
    path("cards/expiring/", ExpiringView.as_view(), name="card-expiring"),
    path("cards/issue/", IssueView.as_view(), name="card-issue"),
    path("cards/<str:chip_serial>/", CardDetailView.as_view(), name="card-detail"),
    path("cards/<str:chip_serial>/replace/", ReplaceView.as_view(), name="card-replace"),
    path("cards/<str:chip_serial>/repair/", RepairView.as_view(), name="card-repair"),
    path("cards/<str:chip_serial>/clear/", ClearView.as_view(), name="card-clear"),
    path("cards/<str:chip_serial>/renew/", RenewView.as_view(), name="card-renew"),
    path("cards/<str:chip_serial>/unlock/", UnlockView.as_view(), name="card-unlock"),
    path(
        "cards/<str:chip_serial>/report-locked/",
        ReportLockedView.as_view(),
        name="card-report-locked",
    ),
    path("cards/<str:chip_serial>/lock-report/", LockReportView.as_view(), name="card-lock-report"),
    path("cards/<str:chip_serial>/report-lost/", ReportLostView.as_view(), name="card-report-lost"),
    path("cards/<str:chip_serial>/cancel/", CancelView.as_view(), name="card-cancel"),
    path(
        "cards/<str:chip_serial>/self-unlock/code/",
        SelfUnlockCodeView.as_view(),
        name="card-self-unlock-code",
    ),
    path(
        "cards/<str:chip_serial>/self-unlock/verify/",
        SelfUnlockVerifyView.as_view(),
        name="card-self-unlock-verify",
    ),
    path(
        "card-operations/<str:operation>/certificate/",
        CertificateRequestView.as_view(),
        name="card-operation-certificate",
    ),
    path(
        "card-operations/<str:operation>/complete/",
        CompleteView.as_view(),
        name="card-operation-complete",
    ),
]
