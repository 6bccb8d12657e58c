# payhook-fetcher: rules go here (issue 3).
