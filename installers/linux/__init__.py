"""Linux packaging: the .deb layout, AppStream metainfo and bundle dependency facts."""
