from labelport.api.server import main

main()
