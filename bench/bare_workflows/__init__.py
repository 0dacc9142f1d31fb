"""The bare engine: Reviewdesk's shape in Temporal terms, with none of its logic.

One ``BareLifecycleWorkflow`` makes the same calls on the engine as one contact does, in the
same order: the same local activities (here they do nothing), timers, updates and validators,
and the same separately started report workflow. Since Reviewdesk's v3 a step that records
messages sends them itself at their first try and starts a delivery workflow only for one that
failed; none fails here, so ``BareDeliveryWorkflow`` (the same shape as Reviewdesk's) runs only
if asked to. What Reviewdesk adds on top (the HTTP app, the store, the emails) is what the ratio
measures.

    open (and send) ──> opened
    wait: answer | close | the reply window (a timer)
    outcome (and send)
    wait: report | close | the report window (a timer)
    report: file (and send), start report ──> BareReportWorkflow
        report: open (and send); wait: decide | the SLA (a timer)
                apply (and send 2 messages)
    close: close

One module per workflow, as Reviewdesk has (``workflows/contact.py``, ``report.py``,
``delivery.py``): the sandbox runs a workflow's module afresh for each run, so a module holding
all three would cost the bare engine more than Reviewdesk pays. This package's ``__init__``
imports nothing for the same reason; ``bench.bare_worker`` lists the workflows.
"""
