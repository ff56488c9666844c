"""dailyFunnel's wing: the funnel definition, the run, its Mongo store and the report."""
