"""A one-file Django project served through Django's ASGI handler."""

import django
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="test-only",
    MIDDLEWARE=[],
)
django.setup()


async def hello(request):
    return HttpResponse("hello from django")


def echo(request):
    return JsonResponse({"method": request.method, "body": request.body.decode(),
                         "path": request.path, "q": request.GET.get("q")})


urlpatterns = [path("", hello), path("echo/", echo)]

from django.core.asgi import get_asgi_application  # noqa: E402 (needs settings first)

app = get_asgi_application()
