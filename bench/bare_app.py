"""The bare endpoint the collector is compared with: any request gets 204, nothing else."""


def app(environ, start_response):
    start_response("204 No Content", [])
    return [b""]
