from profiler_gui.cli import main

raise SystemExit(main())
