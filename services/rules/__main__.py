from services.rules.bootstrap import main

main()
