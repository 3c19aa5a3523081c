module kpx.test/ipvs-vm-bridge

go 1.21
