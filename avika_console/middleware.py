"""Middleware of the console as a whole."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


class HtmxSignInRedirect:
    """When a session ends while htmx polls or posts, `login_required`
    answers with a redirect that htmx would follow and swap the sign-in form
    into a fragment. Tell htmx to load the sign-in page instead, coming back
    to the page the reader was on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.login_path = resolve_url(settings.LOGIN_URL)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if (
            htmx
            and response.status_code == 302
            and response["Location"].split("?", 1)[0] == self.login_path
        ):
            back = htmx.current_url_abs_path or request.get_full_path()
            return HttpResponseClientRedirect(redirect_to_login(back).url)
        return response
