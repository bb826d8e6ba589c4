"""The WSGI adapter: environ, wsgi.input, start_response, file wrapper, error page, driver."""
