"""One package per AWS service: ``provider.py`` plus plain domain modules beside it."""
