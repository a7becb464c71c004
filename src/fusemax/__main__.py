from fusemax.cli import main

raise SystemExit(main())
