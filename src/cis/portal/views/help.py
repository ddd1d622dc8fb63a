"""Help and guidance, written for this service, open to everyone (signed in or not), and the
Cookies and Privacy pages: the places people are sent when they are stuck or refused."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.views.generic import TemplateView

from cis.authz.scope import person_workplaces
from cis.organisations.models import RegistrationAuthority
from cis.organisations.selectors import ra_list
from cis.people.models import Person

HELP_CRUMB = ("Help", "/help/")


class HelpPage(TemplateView):
    """A help page: breadcrumbs back to the help index, and no sign-in needed."""

    title = ""
    crumbs: tuple[tuple[str, str], ...] = (HELP_CRUMB,)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("heading", self.title)
        context.setdefault("breadcrumbs", list(self.crumbs))
        return context


class HelpIndexView(HelpPage):
    template_name = "portal/help/index.html"
    title = "Help and guidance"
    crumbs = ()


class SmartcardHelpView(HelpPage):
    template_name = "portal/help/smartcards.html"
    title = "What your smartcard is for"


class BeforeYouStartView(HelpPage):
    template_name = "portal/help/before_you_start.html"
    title = "What you need to use the Care Identity Service"


class CardNotWorkingView(HelpPage):
    template_name = "portal/help/card_not_working.html"
    title = "My smartcard is not working"


class GuidesView(HelpPage):
    template_name = "portal/help/guides.html"
    title = "Step-by-step guides"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The journeys' screenshots come from the browser tests (docs/screenshots/); an
        # installation without them shows the steps alone.
        kwargs["screenshots"] = settings.SCREENSHOTS_DIR.exists()
        return super().get_context_data(**kwargs)


def my_registration_authorities(person: Person) -> list[RegistrationAuthority]:
    """The RAs that serve this person: the one that registered them, and the ones serving the
    organisations where they hold a position now (contact details are public, as ra_list says)."""
    ids = {w.serving_ra_id for w in person_workplaces(person).values() if w.serving_ra_id}
    if person.registered_ra_id:
        ids.add(person.registered_ra_id)
    return list(ra_list().filter(pk__in=sorted(ids)).order_by("name"))


class WhoCanHelpView(HelpPage):
    template_name = "portal/help/who_can_help.html"
    title = "Who can help"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        mine = my_registration_authorities(user) if isinstance(user, Person) else []
        context["my_ras"] = mine
        context["all_ras"] = [] if mine else list(ra_list().order_by("name"))
        return context


class CookiesView(TemplateView):
    template_name = "portal/help/cookies.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["cookies"] = [
            (
                settings.SESSION_COOKIE_NAME,
                "Keeps you signed in as you move from page to page.",
                "When you close your browser, or after 8 hours",
            ),
            (
                settings.CSRF_COOKIE_NAME,
                "Makes sure that forms you send come from this service and not another website.",
                "After 1 year",
            ),
        ]
        return context


class PrivacyView(TemplateView):
    template_name = "portal/help/privacy.html"
