"""`make up` / `make down`: the three stacks on an embedded AWS and the API served on 127.0.0.1.

Nothing here ships: it is the newcomer's way to see the platform deploy and answer without an
AWS account, and the end-to-end test's way to get one deployment per test session.

Modules: `paths` (what lives under `.local/`), `processes` (pid files, stopping by pid),
`oidc` (the development issuer: its key, JWKS and tokens), `serve` (the process that serves the
API, the issuer and the CloudFront stand-in), `lambdas` (run a deployed function's handler
locally; the EventBridge stand-in), `agents` (the runner's process, models and repositories),
`up` (with `moto`: the embedded AWS, `stacks`: synth and apply, `api_server`: the API's wiring,
`report`: what is up) and `down`; the package `runner` is the local task runner (Fargate's part).
"""
