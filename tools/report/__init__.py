"""make report: cli.py collects from DVC and writes the file, pictures.py draws the plots, page.py the HTML."""
