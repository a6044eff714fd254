"""The web console for privacy officers, coordinators and operators: server-rendered pages
(Jinja2, plain forms) under /console, on the API's app, its policy and its access log.

    mount.py         `install_console(app, services)`: state, sign-in, pages, static files
    state.py         the process's console state; the SignInMethod interface
    signin.py        sign-in with a personal client token; `start_session` for any method
    sessions.py      server-side sessions in memory: cookie id, CSRF token, timeouts
    deps.py          the console's wiring: language, session, policy on pages, CSRF forms
    i18n.py          nb/da/en gettext catalogues (locale/) and Babel dates and numbers
    templating.py    Jinja2 environments per language; security headers
    pages/           one router per resource: home, disclosures, reports, log, families,
                     consents, plan (the family plan)
    plan_forms.py    the plan page's forms as the plan's documents, their errors, versions
    letter.py        the citizen's access report as a letter (also `helhet audit report`)
    chart.py         the disclosures-over-time chart as inline SVG
    consent_form.py  the paper-shaped consent form: who must sign, the decision preview
    verification.py  verifying the log in the background, with progress
"""
