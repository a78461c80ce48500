//! Wire types and codecs shared by Crosslock clients and servers.
#![forbid(unsafe_code)]
