module blip.dev/blip

go 1.19
