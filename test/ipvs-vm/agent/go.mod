module kpx.test/ipvs-vm-agent

go 1.21
