// Package version answers XEP-0092 Software Version for the server.
//
//	mux := feature.NewMux(version.Handle("Crosstalk", "1.0"))
package version
