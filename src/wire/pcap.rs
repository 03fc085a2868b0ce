//! Classic pcap capture files.
