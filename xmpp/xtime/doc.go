// Package xtime answers XEP-0202 Entity Time for the server.
//
//	mux := feature.NewMux(xtime.Handle(time.Now))
package xtime
