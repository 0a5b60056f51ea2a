#!/bin/bash

##
# It is recomended to `chmod 600 stash.diy-aws-backup.vars.sh` after copying the template.
##

# A name for your instance. It cannot contain spaces. It must be under 100 characters in length.
# This will be used as a prefix when tagging your instance snapshot.
INSTANCE_NAME=stash

# The Stash base URL. It must not end with '/'
STASH_URL=http://localhost:7990

# The path to the Stash home directory
STASH_HOME=/media/atl/stash/shared
STASH_UID=atlstash
STASH_GID=atlstash

# The username and password of a user with SYSADMIN permission
STASH_BACKUP_USER=admin
STASH_BACKUP_PASS='p@ss w0rd$with"quotes'

# 'ebs-collocated' means the database data directory is located in the same volume as the STASH_HOME.
BACKUP_DATABASE_TYPE=ebs-collocated

# 'ebs-home' means the Stash home (and the database data directory if ebs-collocated has been specified)
# will be backed up by taking a snapshot of an EBS volume.
BACKUP_HOME_TYPE=ebs-home

# The mount point for the volume holding the STASH_HOME directory as it appears in /etc/fstab
HOME_DIRECTORY_MOUNT_POINT=/media/atl
# The device name on to which the STASH_HOME volume is attached as it appears in the Amazon console
HOME_DIRECTORY_DEVICE_NAME=/dev/xvdf

# The availability zone for your AWS instance. If left unchanged from the template it will be retrieved from
# the metadata endpoint
AWS_AVAILABILITY_ZONE=`curl ${CURL_OPTIONS} http://169.254.169.254/latest/meta-data/placement/availability-zone`
# The region for your AWS instance. If left unchanged from the template it will be derived from the
# AWS_AVAILABILITY_ZONE
AWS_REGION=$(echo ${AWS_AVAILABILITY_ZONE} | sed -e 's:\([0-9][0-9]*\)[a-z]*$:\1:')

# The type of volume to create from the snapshot (one of io1, gp2, and standard)
RESTORE_HOME_DIRECTORY_VOLUME_TYPE=gp2
# The provisioned IOPS for the new volume. Only necessary if RESTORE_HOME_DIRECTORY_VOLUME_TYPE=io1
RESTORE_HOME_DIRECTORY_IOPS=1000

# HipChat options
HIPCHAT_URL=https://api.hipchat.com
HIPCHAT_ROOM=ops
HIPCHAT_TOKEN="hc-token-0123456789"

# Options to pass to every "curl" command
CURL_OPTIONS="-L -s -f"

# If FALSE info and print level logging will be skipped
STASH_VERBOSE_BACKUP=TRUE
