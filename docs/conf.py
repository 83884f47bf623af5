# Sphinx configuration of the rendered notebook docs (`make docs` -> _docs/). See docs/README.md.
# tools/build_docs.py copies this file into the staging folder (build/docs_src/) next to the processed
# notebooks, which it has already executed (or reused), so Sphinx itself never runs a kernel.
project = "deepfovea_nb"
author = "deepfovea_nb developers"
copyright = "2026 onwards, deepfovea_nb developers"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_static", "_build", "**.ipynb_checkpoints"]
source_suffix = {".ipynb": "myst-nb", ".md": "myst-nb"}

# MyST-NB: notebooks arrive executed; render their stored outputs as they are.
nb_execution_mode = "off"
nb_merge_streams = True
nb_render_markdown_format = "myst"   # Markdown outputs (the results table) support tables
nb_ipywidgets_js = {}          # no CDN scripts: widget outputs are replaced by the pre-rendered slider page
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# Math without network: the MathJax 2 build shipped by the PyPI package jupyter-server-mathjax (the one the
# classic notebook used: HTML-CSS output, STIX-Web fonts), copied into _static by tools/build_docs.py.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True, "ignoreClass": "document", "processClass": "math|output_area"},
    # HTML-CSS probes font loading with a font at url('about:blank'), which Chromium reports as a console error;
    # a local() source makes the same probe without a request.
    "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None, "preferredFont": None,
                 "styles": {"@font-face": {"font-family": "MathJax_Blank", "src": "local('MathJax_Blank')"}}},
    "messageStyle": "none",
    "menuSettings": {"zoom": "None"},
}

html_theme = "furo"
html_title = "deepfovea_nb"
html_static_path = ["_static"]
html_favicon = "favicon.svg"     # the density map: dense fovea, sparse periphery
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {"navigation_with_keys": True}
