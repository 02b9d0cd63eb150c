"""GitHub's error answers become one readable sentence, whatever the body."""

from github import GithubException

from releases.ghclient import _message

UNICORN = (
    "<!DOCTYPE html><html><head><title>Unicorn! &middot; GitHub</title>"
    "<style>body { color: red }</style></head><body>" + "x" * 5000 + "</body></html>"
)


def test_a_json_error_gives_its_message_and_the_status():
    exc = GithubException(404, {"message": "Not Found"}, {})
    assert _message(exc) == "GitHub answered 404 Not Found: Not Found"


def test_a_validation_error_lists_what_failed():
    data = {
        "message": "Validation Failed",
        "errors": [{"resource": "Release", "code": "already_exists", "field": "tag"}],
    }
    text = _message(GithubException(422, data, {}))
    assert text == (
        "GitHub answered 422 Unprocessable Content: Validation Failed "
        "(tag already_exists)"
    )


def test_an_html_error_page_is_named_by_its_title_not_dumped():
    # PyGithub wraps a body that is not JSON as {"data": "<the body>"}.
    text = _message(GithubException(502, {"data": UNICORN}, {}))
    assert text == "GitHub answered 502 Bad Gateway: an error page (Unicorn! · GitHub)"


def test_a_long_plain_body_is_cut_short():
    text = _message(GithubException(500, {"data": "boom " * 200}, {}))
    assert text.startswith("GitHub answered 500 Internal Server Error: boom boom")
    assert len(text) < 250
    assert "{" not in text


def test_an_empty_body_says_so():
    assert _message(GithubException(503, None, {})) == (
        "GitHub answered 503 Service Unavailable with no message"
    )
