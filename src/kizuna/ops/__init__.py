"""Operations: whole analyses run against a node's store (the layer between the store and the face).

A function here takes an opened store and a typed request, runs the analysis and returns its result
together with the parameters it used, so the command line, the service and the live pipeline run the
same orchestration and report the same facts. It imports store, analyses, formats and share; never the
command line, the service, rich or matplotlib.
"""
